"""A maxout network (Goodfellow, Warde-Farley, Mirza, Courville, Bengio 2013, "Maxout networks"; the
discriminator of the original GAN, Goodfellow et al. 2014, is one): each unit is the max of ``pool_size``
linear pieces, written as PyTorch maxout layers usually are -- one nn.Linear, ``view(..., d_out,
pool_size)``, ``max(-1)``.

The max over the pieces is ``torch.max(x, dim)``: a tie goes to the first piece, as in torch.
"""

import torch.nn as nn

from . import torch_spec


class Maxout(nn.Module):
    def __init__(self, d_in, d_out, pool_size):
        super().__init__()
        self.d_in, self.d_out, self.pool_size = d_in, d_out, pool_size
        self.lin = nn.Linear(d_in, d_out * pool_size)

    def forward(self, inputs):
        shape = list(inputs.size())
        shape[-1] = self.d_out
        shape.append(self.pool_size)
        max_dim = len(shape) - 1
        out = self.lin(inputs)
        m, i = out.view(*shape).max(max_dim)
        return m


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(Maxout(64, 16, 4), nn.Dropout(0.5), Maxout(16, 8, 4), nn.Linear(8, 1))

    def forward(self, x):
        return self.net(x)


MODELS = {"maxout discriminator": torch_spec(Discriminator, 5, lambda net, x: net(x[None])[0])}
