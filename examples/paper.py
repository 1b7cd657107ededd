"""Every example of the paper, printed as piece tables: python examples/paper.py"""
import runpy
from pathlib import Path

HERE = Path(__file__).parent
SCRIPTS = ["section21_relu_zero_weight.py", "section22_max_x_x.py", "section41_parametric_relu.py",
           "eq17_max1_loop.py", "eq19_torch_max.py", "table2_boustany.py", "table3_maxpool.py"]

if __name__ == "__main__":
    import sys
    sys.path.insert(0, str(HERE))
    for name in SCRIPTS:
        doc = (HERE / name).read_text().split('"""')[1]
        print("=" * 100)
        print(f"{name}: {doc}")
        print("=" * 100)
        runpy.run_path(str(HERE / name), run_name="__main__")
        print()
