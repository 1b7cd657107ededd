import importlib.util

# model files import their framework at module level: skip those whose framework is not installed
collect_ignore = [] if importlib.util.find_spec("jax") else ["stax_models.py"]
if importlib.util.find_spec("torch") is None:
    collect_ignore += ["lenet.py", "mnist_example.py", "cnn1d.py", "pointnet.py", "maxout.py", "vgg.py",
                       "resnet.py", "relu_alpha.py", "robust.py", "losses.py"]
