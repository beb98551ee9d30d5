"""The CLI commands that mirror the studio's new buttons call the same workflow functions."""

import yaml

from lab.cli import main
from lab.library.versions import VariantLibrary


def test_clone_and_create_from_the_cli(library, lab_env, capsys):
    exps = lab_env.root
    assert main(["variants", "clone", "v3-rival-ghost", "v4-ghost", "--dir", str(library)]) == 0
    assert VariantLibrary(library).load("v4-ghost").prompt_template == VariantLibrary(library).load(
        "v3-rival-ghost").prompt_template
    assert main(["variants", "clone", "v3-rival-ghost", "Bad Id!", "--dir", str(library)]) == 2
    assert "not a valid id" in capsys.readouterr().err

    args = ["experiments", "create", "ghost-test", "--scenario", "rank_up", "--arms",
            "v3-rival-ghost=0.5,v4-ghost=0.5", "--baseline", "0.3", "--dir", str(library), "--experiments", str(exps)]
    assert main(args) == 0
    spec = yaml.safe_load((exps / "ghost-test.yaml").read_text())
    assert spec["status"] == "draft" and [a["variant"] for a in spec["arms"]] == ["v3-rival-ghost", "v4-ghost"]
    assert main(args) == 2 and "already exists" in capsys.readouterr().err


def test_studio_auth_must_be_user_and_password(capsys):
    assert main(["studio", "--auth", "nopassword"]) == 2
    assert "USER:PASSWORD" in capsys.readouterr().err
