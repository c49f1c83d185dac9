"""The validator reports every violation of a journey in one pass, each at its line."""

from __future__ import annotations

from journeys.loader import load_text

# A bad duration used to hide the two dangling `goto`s until it was fixed.
DRAFT = """\
id: draft
name: Draft
entry: {event: contact.created}
steps:
  - id: first
    wait: 2x
  - id: choose
    branch:
      - when: "score > 10"
        goto: hot
    default: warm
  - id: done
    exit: finished
"""


def test_a_bad_wait_does_not_hide_two_dangling_gotos():
    loaded = load_text(DRAFT, "draft.yaml")
    found = [(v.line, v.message) for v in loaded.violations]
    assert loaded.journey is None
    assert (6, "The wait duration is not valid: The duration '2x' is not valid; write it "
               "like '30m', '2h', '5d' or '2w'.") in found
    assert (9, "The step 'choose' goes to 'hot', which is not a step of this journey.") in found
    assert (11, "The step 'choose' goes to 'warm', which is not a step of this journey.") \
        in found


def test_fixing_the_wait_leaves_exactly_the_gotos_to_fix():
    fixed = DRAFT.replace("wait: 2x", "wait: 2d")
    messages = [v.message for v in load_text(fixed, "draft.yaml").violations]
    assert sum("goes to" in m for m in messages) == 2
    assert not any("duration" in m for m in messages)


def test_a_step_that_failed_to_parse_is_still_a_target():
    # 'first' has a bad duration; going to it is not also called a dangling goto.
    text = DRAFT.replace("goto: hot", "goto: first").replace("default: warm", "default: done")
    loaded = load_text(text, "draft.yaml")
    assert [v.line for v in loaded.violations] == [6]


def test_a_valid_draft_has_no_violation_and_loads():
    text = DRAFT.replace("wait: 2x", "wait: 2d").replace("goto: hot", "goto: done") \
        .replace("default: warm", "default: done")
    loaded = load_text(text, "draft.yaml")
    assert loaded.violations == [] and loaded.journey is not None
