"""Section 4.1: relu with relu'(0) = z, a parameter. The associated gradient is 0, z, 1."""
import sympy as sp

import mtsym as mt

if __name__ == "__main__":
    z = sp.Symbol("z")
    table = mt.derive(lambda x: mt.relu(x), "x", convention=mt.Convention("torch", relu0=z))
    print(table)
    print([table.grad_at((x,))[0] for x in (-1, 0, 1)])
