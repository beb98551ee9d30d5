import subprocess
import sys


def test_analysis_imports_no_torch_no_gradio():
    code = ("import sys, analysis.engine, analysis.ingest, analysis.report, analysis.power; "
            "bad = [m for m in ('torch', 'gradio', 'diffusers', 'lab') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
