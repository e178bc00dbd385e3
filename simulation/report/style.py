"""The stylesheet of report.html: quiet, readable, printable; inlined into the page."""

CSS = """
:root{color-scheme:light}
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#111827;
 background:#f9fafb;margin:0;line-height:1.45}
main{max-width:1000px;margin:0 auto;padding:24px 28px 60px;background:#fff;
 box-shadow:0 0 0 1px #e5e7eb}
h1{font-size:1.6rem;margin:0 0 4px}
h2{font-size:1.2rem;margin:36px 0 8px;padding-top:12px;border-top:1px solid #e5e7eb}
p.sub{color:#4b5563;margin:0 0 18px}
p.note{color:#4b5563;font-size:.9rem;margin:4px 0 10px}
.verdict{border-left:6px solid;padding:10px 14px;margin:8px 0;border-radius:4px;font-size:1.05rem}
.verdict.met{border-color:#059669;background:#ecfdf5}
.verdict.missed{border-color:#dc2626;background:#fef2f2}
.verdict.unsure{border-color:#d97706;background:#fffbeb}
.verdict b{letter-spacing:.04em}
.why{margin:6px 0 6px 20px;color:#374151}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:10px;
 margin:16px 0}
.tile{border:1px solid #e5e7eb;border-radius:6px;padding:8px 12px}
.tile .label{font-size:.8rem;color:#4b5563}
.tile .value{font-size:1.35rem;font-weight:600}
.tile .ci{font-size:.78rem;color:#4b5563}
table{border-collapse:collapse;margin:8px 0 12px;font-size:.9rem}
th,td{padding:4px 10px;border-bottom:1px solid #e5e7eb;text-align:left}
th{background:#f3f4f6;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr:nth-child(even) td{background:#fafafa}
.bad{color:#b91c1c;font-weight:600}
.good{color:#047857}
.cols{display:flex;flex-wrap:wrap;gap:28px}
nav{font-size:.85rem;color:#4b5563;margin:10px 0}
nav a{color:#1d4ed8;margin-right:10px}
code{font-size:.85em;word-break:break-all}
"""
