"""``tinytx bench``: exact instruction counts and modelled cycles of the MHSA kernels.

For each shape, every kernel call of one layer-wise MHSA block (Q/K/V projections,
QK^T with the integer softmax, A*V, output projection) and the whole
``tinytx_mhsa_s8`` block run under unicorn on a bench ELF built for an emulated
Cortex-M target, on calibrated data, and each output is checked byte for byte against
the golden model. Modules:

- `tinytx.bench.costs`: cost tables (``cost_tables.yaml``) and the block pricer;
- `tinytx.bench.runner`: the unicorn runner that counts instructions and modelled cycles;
- `tinytx.bench.firmware`: the bench ELF per (target, kernel variant);
- `tinytx.bench.cases`: the kernel calls of a block, their data and golden checks;
- `tinytx.bench.run`: shapes, sessions and the comparison with the reference kernels;
- `tinytx.bench.budget`: the committed instruction budgets (the CI gate);
- `tinytx.bench.outputs`: table, JSON and plot;
- `tinytx.bench.profile`: per-layer split of a whole model's run function (``tinytx run
  --profile``);
- `tinytx.bench.models`: one inference of each sample model (``tinytx bench --models``);
- `tinytx.bench.fit_costs`: fitting and checking the attention cost formulas of
  `tinytx.plan.costs` (``tinytx bench --fit-costs`` / ``--check-costs``).

See docs/benchmarks.md.
"""
