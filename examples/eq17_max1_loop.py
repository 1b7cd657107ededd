"""Eq. (17)-(18): the max1 loop of Table 1, traced as written. Four pieces; ties go to the first index."""
import mtsym as mt
from mtsym.examples import max1   # Table 1's loop, unchanged:
#     res = x[0]
#     for i in range(1, len(x)):
#         if x[i] > res:
#             res = x[i]
#     return res

if __name__ == "__main__":
    table = mt.derive(max1, 4)
    print(table)
    print("grad at (0, 0, 0, 0):", table.grad_at((0, 0, 0, 0)))
