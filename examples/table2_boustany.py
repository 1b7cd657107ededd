"""Table 2 (section 4.3): Boustany's f(t) = max1(t*(1,2,3,4)) - max(t*(1,2,3,4)); f'(0) = -3/2."""
import mtsym as mt
from mtsym.examples import max1

X = (1, 2, 3, 4)


def boustany(t):
    return max1([t * v for v in X]) - mt.max([t * v for v in X])


if __name__ == "__main__":
    table = mt.derive(boustany, "t", convention="torch")
    print(table)
    for t in (-1, "-1/2", "-1/100", 0, "1/100", "1/2", 1):
        print(f"f'({t}) = {table.grad_at((t,))[0]}")
