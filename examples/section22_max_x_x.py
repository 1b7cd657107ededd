"""Section 2.2: f(x) = max(x, x) = x. One stratum; the associated gradient is 1 under every convention."""
import mtsym as mt

if __name__ == "__main__":
    for conv in ("torch", "jax", "first", "last", "mean"):
        table = mt.derive(lambda x: mt.max(x, x), "x", convention=conv)
        print(f"{conv:6s}", table.pieces[0].expr, "  grad", table.grad_at((0,))[0],
              f"  ({len(table.strata)} stratum of dimension {table.strata[0].dim})")
