"""Print lines of code per package (size is a decision, as in tinygrad's sz.py)."""
from pathlib import Path

root = Path(__file__).resolve().parent.parent / "accelmap"
rows = []
for package in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("__")):
    files = list(package.rglob("*.py"))
    lines = sum(len(f.read_text().splitlines()) for f in files)
    biggest = max(files, key=lambda f: len(f.read_text().splitlines()))
    rows.append((package.name, len(files), lines, biggest.name, len(biggest.read_text().splitlines())))
top = sum(len(f.read_text().splitlines()) for f in root.glob("*.py"))
print(f"{'package':10s} {'files':>5s} {'lines':>6s}  largest module")
for name, count, lines, big, big_lines in rows:
    print(f"{name:10s} {count:5d} {lines:6d}  {big} ({big_lines})")
print(f"{'(top)':10s} {len(list(root.glob('*.py'))):5d} {top:6d}")
