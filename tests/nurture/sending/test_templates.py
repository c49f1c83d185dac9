"""Email templates: variants, the sandbox, error messages, the derived text part, and the
`nurture templates` commands."""

from __future__ import annotations

import email
import email.policy
import json

import pytest

from nurture.config import PROJECT_ROOT
from nurture.sending.render import TemplateError, TemplateStore
from tests.factories import CONTEXT, write_template
from tests.helpers import invoke_cli


@pytest.fixture
def store() -> TemplateStore:
    return TemplateStore(PROJECT_ROOT / "templates")


def test_vertical_variant_is_chosen_and_other_contacts_fall_back(store):
    retail = store.resolve("prospect-case-study", vertical="Retail", stage="learn")
    public = store.resolve("prospect-case-study", vertical="public-sector", stage="learn")

    assert retail.folder == "prospect-case-study@retail"
    assert "14-store retailer" in retail.subject.render(CONTEXT)
    assert public.folder == "prospect-case-study"
    assert public.subject.render(CONTEXT) == store.get("prospect-case-study").subject.render(
        CONTEXT)


def test_vertical_beats_stage_and_a_journey_variant_beats_both(store):
    def folder(**kw):
        return store.resolve("prospect-case-study", **kw).folder

    assert folder(vertical="", stage="try") == "prospect-case-study@try"
    assert folder(vertical="healthcare", stage="try") == "prospect-case-study@healthcare"
    assert folder(variant="retail", vertical="healthcare") == "prospect-case-study@retail"
    assert folder(variant="prospect-case-study@try", vertical="retail") == (
        "prospect-case-study@try")
    assert folder(vertical="../../etc", stage=None) == "prospect-case-study"


def test_contact_named_script_is_text_in_the_html(store):
    name = {"first_name": "<script>alert(1)</script>"}
    context = CONTEXT | {"contact": name, "recipient": name}

    html = store.get("trial-welcome").html.render(context)

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html


def test_missing_fields_fall_back_to_defaults(store):
    html = store.get("retail-nurture-1a").html.render(CONTEXT | {"contact": {}})

    assert "Hi there," in html


def test_default_filter_covers_a_contact_with_no_fields_at_all(tmp_path):
    store = write_template(tmp_path, "greeting", "<mj-text>x</mj-text>",
                           subject='Hi {{ contact.first_name | default("there") }}')

    assert store.get("greeting").subject.render({}) == "Hi there"


def test_a_contact_attribute_named_like_a_dict_method_is_the_attribute(tmp_path):
    store = write_template(
        tmp_path, "plan", "<mj-text>x</mj-text>",
        subject="{{ contact.attributes.items }} items, "
                "{% for k, v in contact.plan.items() %}{{ k }}={{ v }}{% endfor %}")

    subject = store.get("plan").subject.render(
        {"contact": {"attributes": {"items": 3}, "plan": {"seats": 5}}})

    assert subject == "3 items, seats=5"  # with no such key, the method is still there


def test_subject_stays_on_one_line_whatever_the_contact_is_called(store):
    name = {"first_name": "Ann\r\nBcc: everyone@example.com"}
    context = CONTEXT | {"contact": name, "recipient": name}  # the welcome greets its reader

    assert store.get("trial-welcome").subject.render(context) == (
        "Your Nurture trial is ready, Ann Bcc: everyone@example.com")


def test_reaching_for_python_internals_is_a_template_error_naming_the_file(tmp_path):
    store = write_template(tmp_path, "sneaky",
                           "        <mj-text>{{ ''.__class__.__mro__ }}</mj-text>")

    with pytest.raises(TemplateError) as caught:
        store.get("sneaky")

    assert str(caught.value) == ("Template sneaky, body.mjml line 5: '__mro__' is not allowed: "
                                 "templates cannot reach Python internals.")


def test_internals_reached_at_render_time_fail_that_render_not_the_process(tmp_path):
    store = write_template(tmp_path, "indirect", "<mj-text>x</mj-text>",
                           subject="{{ contact | attr(contact.name) }}")
    template = store.get("indirect")

    with pytest.raises(TemplateError, match=r"^Template indirect, subject\.txt line 1: .*"
                                            r"Python internals\.$"):
        template.subject.render({"contact": {"name": "__class__"}})


def test_syntax_error_names_the_template_file_and_line(tmp_path):
    body = "        <mj-text>Hello</mj-text>\n" * 7 + "        <mj-text>{{ contact.name }</mj-text>"
    store = write_template(tmp_path, "trial-welcome", body)

    with pytest.raises(TemplateError) as caught:
        store.get("trial-welcome")

    assert str(caught.value) == "Template trial-welcome, body.mjml line 12: unexpected '}'."
    assert (caught.value.file, caught.value.line) == ("body.mjml", 12)


def test_syntax_error_in_the_subject_names_subject_txt(tmp_path):
    store = write_template(tmp_path, "subj", "<mj-text>x</mj-text>", subject="Hi {% if %}")

    with pytest.raises(TemplateError, match=r"^Template subj, subject\.txt line 1: "):
        store.get("subj")


def test_missing_template_is_a_template_error(store):
    with pytest.raises(TemplateError, match="there is no template nope"):
        store.get("nope")
    with pytest.raises(TemplateError):
        store.get("../web")


def test_text_part_is_derived_from_the_html_with_its_links(tmp_path):
    store = write_template(tmp_path, "derived", "\n".join([
        "        <mj-text>Hi {{ contact.first_name | default('there', true) }},</mj-text>",
        "        <mj-text>Your <strong>trial</strong> is ready.</mj-text>",
        '        <mj-button href="{{ links.login }}">Sign in</mj-button>',
        '        <mj-text><a href="{{ links.unsubscribe }}">Unsubscribe</a></mj-text>',
    ]))

    text = store.get("derived").text.render(CONTEXT)

    assert text == ("Hi Ann,\n\nYour trial is ready.\n\nSign in (https://app.example/login)\n\n"
                    "Unsubscribe (https://app.example/u/t1)\n")


def test_body_txt_is_used_when_present(tmp_path):
    store = write_template(tmp_path, "written", "<mj-text>HTML</mj-text>",
                           text="Hand-written for {{ contact.first_name }}.")

    assert store.get("written").text.render(CONTEXT) == "Hand-written for Ann."


def test_an_edited_template_is_compiled_again(tmp_path):
    store = write_template(tmp_path, "edited", "<mj-text>x</mj-text>", subject="First")
    assert store.get("edited").subject.render(CONTEXT) == "First"

    (tmp_path / "email" / "edited" / "subject.txt").write_text("Second, edited")

    assert store.get("edited").subject.render(CONTEXT) == "Second, edited"


def test_every_shipped_template_passes_the_check(tmp_path):
    result = invoke_cli(["templates", "check"], tmp_path)

    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # no problems; the count goes to stderr


def test_check_prints_each_problem_at_its_file_and_line(tmp_path):
    write_template(tmp_path, "no-footer", '        <mj-text font-size="11px">Hi</mj-text>')
    write_template(tmp_path, "broken", "        <mj-text>{{ oops }</mj-text>")

    result = invoke_cli(["templates", "--dir", str(tmp_path), "check"], tmp_path)

    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert any(line.endswith("email/broken/body.mjml:5: Unexpected '}'.") for line in lines)
    assert any(line.endswith("email/no-footer/body.mjml:5: Text smaller than 14px is hard to "
                             "read on a phone.") for line in lines)
    assert any("no-footer/body.mjml:10: Marketing email needs a visible unsubscribe link"
               in line for line in lines)
    assert any("no-footer/body.mjml:10: The postal address" in line for line in lines)


def test_render_writes_a_complete_message_and_a_preview(tmp_path):
    contact = tmp_path / "ann.json"
    contact.write_text(json.dumps({"email": "ann@example.com", "first_name": "Ann",
                                   "industry": "Retail", "stage": "learn"}))
    out = tmp_path / "out"

    result = invoke_cli(["templates", "render", "prospect-case-study", "--contact-json",
                         str(contact), "--out", str(out)], tmp_path)

    assert result.exit_code == 0, result.output
    message = email.message_from_bytes((out / "message.eml").read_bytes(),
                                       policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert message["To"] == "ann@example.com" and message["Message-ID"] and message["Date"]
    assert "14-store retailer" in message["Subject"]
    assert "Hi Ann," in text and "/u/" in text
    assert "Hi Ann," in html
    assert (out / "index.html").read_text(encoding="utf-8") == html


def test_render_with_bad_contact_json_says_so_in_a_sentence(tmp_path):
    contact = tmp_path / "ann.json"
    contact.write_text('{"email": "ann@example.com",')

    result = invoke_cli(["templates", "render", "trial-welcome", "--contact-json", str(contact),
                         "--out", str(tmp_path / "out")], tmp_path)

    assert result.exit_code != 0
    assert f"Error: The contact file {contact} is not valid JSON: " in result.output
    assert result.output.rstrip().endswith(".")
    assert isinstance(result.exception, SystemExit)  # no traceback
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("name", "content", "says"), [
    ("nope", '{"email": "ann@example.com"}', "There is no template named 'nope'"),
    ("trial-welcome", '["ann@example.com"]', "must hold one JSON object"),
    ("trial-welcome", '{"first_name": "Ann"}', 'needs an "email" field'),
])
def test_render_refuses_bad_input_with_a_sentence(tmp_path, name, content, says):
    contact = tmp_path / "contact.json"
    contact.write_text(content)

    result = invoke_cli(["templates", "render", name, "--contact-json", str(contact),
                         "--out", str(tmp_path / "out")], tmp_path)

    assert result.exit_code != 0
    assert says in result.output
    assert isinstance(result.exception, SystemExit)


def test_render_with_a_missing_contact_file_says_so(tmp_path):
    result = invoke_cli(["templates", "render", "trial-welcome", "--contact-json",
                         str(tmp_path / "missing.json"), "--out", str(tmp_path / "out")], tmp_path)

    assert result.exit_code != 0
    assert "could not be read: No such file or directory." in result.output


def test_list_shows_variants_and_subjects(tmp_path):
    result = invoke_cli(["templates", "list"], tmp_path)

    assert result.exit_code == 0
    line = next(x for x in result.output.splitlines() if x.startswith("prospect-case-study "))
    assert "healthcare,retail,try" in line
    assert "How a 40-person firm" in line


def test_tracked_links_and_pixel_escape_the_base_url_exactly_once(tmp_path):
    from nurture.sending.compose import Tracker

    store = write_template(tmp_path, "links", '<mj-text><a href="https://shop.example/a">A</a> '
                           '<a href="{{ contact.site }}/b">B</a></mj-text>')
    template = store.get("links")
    tracker = Tracker("https://app.example/n?x=1&y=2", "tok", template.html.links)
    html = template.html.render({**CONTEXT, "contact": {"site": "https://own.example"},
                                 "track": tracker, "track_base": tracker.base,
                                 "track_pixel": tracker.pixel})

    assert 'href="https://app.example/n?x=1&amp;y=2/t/tok/0"' in html
    assert 'href="https://app.example/n?x=1&amp;y=2/t/tok/1"' in html
    assert 'src="https://app.example/n?x=1&amp;y=2/o/tok.gif"' in html
    assert "&amp;amp;" not in html
    assert tracker.links == ["https://shop.example/a", "https://own.example/b"]
