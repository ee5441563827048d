"""Pieces of the whole-model profile and budgets that need no firmware: the kernel-call
list the code generator emits, the board clocks of the estimates, the profile's JSON and
the whole-model budget gate (test_models_bench.py runs them on emulated Cortex-M)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tinytx.core import ir
from tinytx.core.boards import clock_of, get_board
from tinytx.core.codegen.project import ConvertOptions, convert
from tinytx.core.resources import samples_dir
from tinytx.toolchain.bench import budget as bud
from tinytx.toolchain.bench.profile import SCHEMA, LayerProfile, ModelProfile

COMPILER = "arm-none-eabi-gcc (test) 12.2.1"


@pytest.mark.parametrize("sample", ["radar", "eeg", "ecg"])
def test_codegen_lists_the_run_functions_calls_in_order(sample: str) -> None:
    conv = convert(samples_dir() / sample / "model" / "model.onnx",
                   ConvertOptions(board="nucleo_l476rg"))  # fmt: skip
    calls = conv.generated.calls
    kernels = [op for op in conv.planned.ops if not isinstance(op, ir.View)]
    assert [c.layer for c in calls] == [op.name for op in kernels]
    assert sum(c.macs for c in calls) == conv.planned.macs
    body = conv.generated.source.split(f"tinytx_status tinytx_{sample}_run(", 1)[1]
    called = re.findall(r"\b(tinytx_\w+)\(", body)
    loops = {c.layer for c in calls if len(c.calls) > 1 and c.calls[-1] == c.calls[-2]}
    flat = [*conv.generated.prologue]
    flat += [name for c in calls for name in (dict.fromkeys(c.calls) if c.layer in loops
                                              else c.calls)]  # fmt: skip
    assert called == flat  # a loop's kernel appears once in the text, n times in the list
    for c in calls:
        assert c.calls[-1] == c.function
        assert all(n == c.function or n == f"{c.function}_get_buffer_size" for n in c.calls)


def test_board_clocks() -> None:
    l4 = get_board("nucleo_l476rg").clock
    h7 = get_board("nucleo_h743zi").clock
    assert l4 is not None and (l4.core_hz, l4.flash_wait_states) == (80_000_000, 4)
    assert h7 is not None and h7.core_hz == 480_000_000
    assert 5 < l4.run_current_ma < 20 and 50 < h7.run_current_ma < 300
    assert clock_of("nucleo_l476rg_emu") == l4 and clock_of(None, "m4") == l4
    assert clock_of("nucleo_h743zi_emu") == h7 and clock_of(None, "m7") == h7
    assert clock_of(None, "rv32") is None and get_board("gap9").clock is None


def test_profile_json_and_estimates() -> None:
    layers = (LayerProfile("conv0", "tinytx_conv2d_s8", 1000, 2, 4000, 5000),
              LayerProfile("add0", "tinytx_add_s8", 0, 1, 900, 1000))  # fmt: skip
    prof = ModelProfile("m", "tinytx_m_run", "cortex-m4", layers, 100, 200, 5000, 6200,
                        get_board("nucleo_l476rg").clock)  # fmt: skip
    doc = json.loads(json.dumps(prof.as_json("m4", "arm")))
    assert doc["schema"] == SCHEMA and doc["macs"] == 1000
    assert [la["share"] for la in doc["layers"]] == [0.8, 0.18]
    assert doc["layers"][0]["macs_per_instruction"] == 0.25
    assert doc["estimate"]["latency_ms"] == pytest.approx(6200 / 80e6 * 1e3)
    assert doc["estimate"]["energy_uj"] == pytest.approx(3.0 * 10.2e-3 * 6200 / 80e6 * 1e6)
    text = "\n".join(prof.table())
    assert "(run function)" in text and "estimate at the nucleo_l476rg clock" in text


def _budget_file(tmp_path: Path) -> Path:
    path = tmp_path / "budgets.json"
    path.write_text(json.dumps({"format": 1, "seed": 7, "budgets": {},
                                "compilers": {"m4": COMPILER}}))  # fmt: skip
    return path


def test_model_budget_gate_fails_on_an_exceeded_budget(tmp_path: Path) -> None:
    path = _budget_file(tmp_path)
    counts = {"radar": 1000, "eeg": 2000}
    assert bud.update_model_budgets(path, "m4", "arm", counts, COMPILER, 7) == 2
    assert bud.check_model_budgets(path, "m4", "arm", counts, COMPILER).ok
    within = {"radar": 1019, "eeg": 2000}  # 1.9 % over
    assert bud.check_model_budgets(path, "m4", "arm", within, COMPILER).ok
    over = {"radar": 1050, "eeg": 2000}
    check = bud.check_model_budgets(path, "m4", "arm", over, COMPILER)
    assert not check.ok and [e.kernel for e in check.failures] == ["radar"]
    assert "over budget: model radar, target m4 (arm): 1,050 instructions, budget 1,000" in (
        check.failures[0].message()
    )
    new = bud.check_model_budgets(path, "m4", "arm", {"ecg": 5}, COMPILER)
    assert not new.ok and "no budget for model ecg" in new.failures[0].message()
    with pytest.raises(bud.BudgetError, match="recorded with"):
        bud.check_model_budgets(path, "m4", "arm", counts, "other gcc")


def test_committed_model_budgets_are_complete() -> None:
    data = bud.load_budgets(bud.default_budget_file())
    for target in ("m4", "m7"):
        assert set(data["models"][target]["arm"]) == {"radar", "eeg", "ecg"}
        assert target in data["compilers"]
