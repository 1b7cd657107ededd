"""Eqs. (19)-(21): torch.max over four values. Fifteen pieces, one per tie set; ties share 1/N each."""
import mtsym as mt

if __name__ == "__main__":
    table = mt.derive(lambda x: mt.max(x), 4, convention="torch")
    print(table)
    print("grad at 0 (eq. 21):", table.grad_at((0, 0, 0, 0)))
