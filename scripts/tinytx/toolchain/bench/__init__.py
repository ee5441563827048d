"""``tinytx bench``: exact instruction counts and modelled cycles of the MHSA kernels.

For each shape, every kernel call of one layer-wise MHSA block (Q/K/V projections,
QK^T with the integer softmax, A*V, output projection) and the whole
``tinytx_mhsa_s8`` block run under unicorn on a bench ELF built for an emulated
Cortex-M target, on calibrated data, and each output is checked byte for byte against
the golden model. Modules:

- `tinytx.toolchain.bench.costs`: cost tables (``cost_tables.yaml``) and the block pricer;
- `tinytx.toolchain.bench.runner`: the unicorn runner that counts instructions and modelled cycles;
- `tinytx.toolchain.bench.firmware`: the bench ELF per (target, kernel variant);
- `tinytx.toolchain.bench.cases`: the kernel calls of a block, their data and golden checks;
- `tinytx.toolchain.bench.run`: shapes, sessions and the comparison with the reference kernels;
- `tinytx.toolchain.bench.budget`: the committed instruction budgets (the CI gate);
- `tinytx.toolchain.bench.outputs`: table, JSON and plot;
- `tinytx.toolchain.bench.profile`: per-layer split of a whole model's run function (``tinytx run
  --profile``);
- `tinytx.toolchain.bench.models`: one inference of each sample model (``tinytx bench --models``);
- `tinytx.toolchain.bench.fit_costs`: fitting and checking the attention cost formulas of
  `tinytx.core.plan.costs` (``tinytx bench --fit-costs`` / ``--check-costs``).

See docs/benchmarks.md.
"""
