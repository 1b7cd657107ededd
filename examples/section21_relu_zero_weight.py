"""Section 2.1: f(x) = R(w0 x) with w0 = 0. Whatever relu'(0) = z is, f' = 0 everywhere."""
import sympy as sp

import mtsym as mt

if __name__ == "__main__":
    z = sp.Symbol("z")
    conv = mt.Convention("torch", relu0=z)
    print(mt.derive(lambda x: mt.relu(0 * x), "x", convention=conv))
    print()
    print("and for w0 = 3, relu'(0) = z shows up at x = 0:")
    print(mt.derive(lambda x: mt.relu(3 * x), "x", convention=conv))
