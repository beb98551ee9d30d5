"""The template language is exactly {{ name }}: checked against the lab's renderer and MLflow's prompt registry."""

import uuid

import pytest
import yaml

from lab.errors import VariantError
from lab.library import templates
from lab.library.templates import check_template
from tests.conftest import SENTINEL_NAME
from tests.lab.test_cli import run

ATTACK = "{% set new_rank = user %}A runner reaches #{{new_rank}}"


def refusal(template: str, scenario: str = "rank_up") -> str:
    with pytest.raises(VariantError) as info:
        check_template(template, scenario, "t")
    return str(info.value)


@pytest.mark.parametrize(
    "template, what",
    [
        (ATTACK, "t: has a '{%' statement at character 1 (line 1, column 1)"),
        ("{% for x in range(3) %}#{{new_rank}}{% endfor %}", "t: has a '{%' statement at character 1"),
        ("ok {% if user %}yes{% endif %}", "t: has a '{%' statement at character 4 (line 1, column 4)"),
        ("calm {# a note #} scene", "t: has a '{#' comment at character 6"),
        ("glow #} scene", "t: has a '#}' comment at character 6"),
        ("rank #{{ new_rank|upper }}", "t: has a '{{' that does not open a plain {{ name }} (filters, '.', '[' and "
                                       "expressions are refused) at character 7"),
        ("{{ user.name }}", "t: has a '{{' that does not open a plain {{ name }}"),
        ("{{ style['x'] }}", "t: has a '{{' that does not open a plain {{ name }}"),
        ("{{ new_rank + 1 }}", "t: has a '{{' that does not open a plain {{ name }}"),
        ("{{\nnew_rank }}", "t: has a '{{' that does not open a plain {{ name }}"),
        ("{{{new_rank}}}", "t: has a '{{' that does not open a plain {{ name }} (filters, '.', '[' and expressions "
                           "are refused) at character 1"),
        ("line one\nthen #{{new_rank}} }} end", "t: has a '}}' with no '{{' before it at character 29 "
                                                "(line 2, column 20)"),
        ("a %} b", "t: has a '%}' statement at character 3"),
        ("#{{ new_rank }} by {{ user }}", "t: uses {{user}} at character 20 (line 1, column 20), which is personal"),
    ],
)
def test_everything_but_plain_placeholders_is_refused_with_its_position(template, what):
    assert refusal(template).startswith(what)


def test_plain_placeholders_and_text_pass():
    check_template("A runner climbs from #{{old_rank}} to #{{ new_rank }} in {{challenge}}, {{style}}, "
                   "{{brand_primary}} and {{brand_accent}} glow; braces { } and 100% are text", "rank_up", "t")


def test_length_is_capped_by_what_the_text_encoder_reads():
    assert templates.PROMPT_MAX_CHARS == 510
    text = "x" * 500
    check_template(text, "rank_up", "t")
    # {{challenge}} can fill to 60 characters: 500 + 60 is past the cap although the template is shorter.
    assert refusal(text[:-13] + "{{challenge}}") == (
        "t: can fill to 547 characters; a prompt is at most 510 characters (the model reads 512 tokens and drops "
        "the rest); shorten it")
    # NFKC: one ligature character can become several, and the tokenizer sees the normalised text.
    assert templates.filled_length("\ufdfa") == 18


def test_the_registry_cannot_put_a_name_into_an_allowed_template(lab_env):
    """What MLflow itself does with the text the lab registers at export (``PromptVersion.format``)."""
    from lab.experiments import tracking

    mlflow = tracking.configure()
    template = "A runner rises to #{{ new_rank }} in {{challenge}}, rival_ghost_exit style"
    check_template(template, "rank_up", "t")
    name = f"trust-{uuid.uuid4().hex[:8]}"
    mlflow.genai.register_prompt(name=name, template=template)
    loaded = mlflow.genai.load_prompt(f"prompts:/{name}/1")
    text = loaded.format(new_rank=2, challenge="Weekly 5K", user=SENTINEL_NAME, rival=SENTINEL_NAME)
    assert text == "A runner rises to #2 in Weekly 5K, rival_ghost_exit style"
    assert SENTINEL_NAME not in text

    # The attack the lab used to accept: MLflow renders it with Jinja2 and the name comes out. The lab
    # refuses it, so it never reaches the registry.
    mlflow.genai.register_prompt(name=f"{name}-attack", template=ATTACK)
    leaked = mlflow.genai.load_prompt(f"prompts:/{name}-attack/1").format(new_rank=2, user=SENTINEL_NAME)
    assert SENTINEL_NAME in leaked
    assert refusal(ATTACK).startswith("t: has a '{%' statement")


def test_the_attack_is_refused_at_variants_save_and_validate(library, tmp_path):
    path = library / "v3-rival-ghost.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["prompt"]["template"] = ATTACK
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    for args in (("variants", "validate", str(path)), ("variants", "save", str(path), "--dir", str(library))):
        proc = run(*args)
        assert proc.returncode == 2, proc.stdout
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "prompt.template: has a '{%' statement at character 1" in lines[0], lines
        assert "Traceback" not in proc.stderr
