"""Table 3 (section 4.4): f(t) = maxpool1d(t, 4t) - maxpool1d(4t, t) with MaxPool1d(2, stride=1); f'(0) = -3."""
import mtsym as mt


def f(t):
    return mt.maxpool1d([t, 4 * t], 2, stride=1)[0] - mt.maxpool1d([4 * t, t], 2, stride=1)[0]


if __name__ == "__main__":
    table = mt.derive(f, "t", convention="torch")
    print(table)
    for t in (-1, "-1/2", "-1/100", 0, "1/100", "1/2", 1):
        print(f"f'({t}) = {table.grad_at((t,))[0]}")
