"""The story-format parser: every block of story-format.md, and the cases real files bring."""

import pytest

from articles.storyformat import Item, StoryFormatError, is_paragraph, parse
from tests.factories import story_text


def test_sample_story_parses_into_every_block(shared_file):
    story = parse(shared_file("stories/longgang.txt").read_text(encoding="utf-8"))
    assert story.title.startswith("Shenzhen Longgang")
    assert len(story.lede) == 2  # the repeated headline is not a paragraph
    assert story.key_facts_heading == "Key Facts About Longgang's AI Strategy"
    assert len(story.key_facts) == 6
    assert story.key_facts[0].label == "Strategic Focus"
    assert story.key_facts[0].text.startswith("The new plan centers on two core directions: ")
    headings = [s.heading for s in story.sections]
    assert len(headings) == 5
    assert headings[-1] == "Looking Ahead: The Future of AI Manufacturing"
    pillars = story.sections[1]
    assert pillars.points_heading == "" and len(pillars.points) == 4 and len(pillars.paragraphs) == 1
    competing = story.sections[2]
    assert competing.points_heading == "Strategic Advantages Over Competitors"
    assert [p.label for p in competing.points][:2] == ["Speed to Market", "Scale"]
    assert story.take_title == "Gogo's Take"
    assert [p.kind for p in story.take_points] == ["why_it_matters", "limitations", "advice"]
    assert (story.source_name, story.source_site) == ("GogoAI News", "www.gogoai.xin")
    assert story.original_url.startswith("https://www.gogoai.xin/article/")
    assert story.credit == "Please credit GogoAI when republishing."


def test_title_repeated_on_second_line_is_not_a_paragraph():
    text = story_text()
    title = text.splitlines()[0]
    story = parse(f"{title}\n{text}")
    assert story.lede == ["The harbour board approved three tidal turbines on Tuesday."]


def test_lede_may_have_several_paragraphs():
    story = parse(story_text(lede=("First sentence here.", "He said: “It will work.”", "Is it ready?")))
    assert len(story.lede) == 3


def test_key_fact_text_may_contain_colon_space():
    story = parse(story_text(facts=(("Quote", "The mayor said: yes, and soon."),)))
    assert story.key_facts == [Item("Quote", "The mayor said: yes, and soon.")]


def test_section_headings_with_colon_and_question_mark():
    sections = (
        ("Looking Ahead: The Next Ten Years", ("More turbines may follow.",), "", ()),
        ("What Does It Mean for Ferry Riders?", ("Fares stay the same.",), "", ()),
    )
    story = parse(story_text(sections=sections))
    assert [s.heading for s in story.sections] == [s[0] for s in sections]
    assert story.sections[1].paragraphs == ["Fares stay the same."]


def test_a_question_in_prose_is_a_paragraph_not_a_heading():
    assert is_paragraph("But will the turbines survive a winter storm at sea?")
    assert not is_paragraph("What Does It Mean for Shippers?")


def test_section_with_points_heading_and_without():
    sections = (
        (
            "Core Parts of the Plan",
            ("The plan has parts.",),
            "",
            (("Grid", "New cables."), ("", "A plain bullet with no label.")),
        ),
        ("Money Matters", ("Costs are shared.",), "Who Pays", (("City", "Half."), ("Port", "The other half."))),
    )
    story = parse(story_text(sections=sections))
    first, second = story.sections
    assert first.points_heading == "" and first.points == [
        Item("Grid", "New cables."),
        Item("", "A plain bullet with no label."),
    ]
    assert second.points_heading == "Who Pays" and [p.label for p in second.points] == ["City", "Port"]


def test_long_sentence_before_colon_is_not_a_label():
    sections = (("Voices", ("People spoke.",), "", (("", "Residents who live near the pier said this: it is loud."),)),)
    story = parse(story_text(sections=sections))
    assert story.sections[0].points[0] == Item("", "Residents who live near the pier said this: it is loud.")


def test_heading_straight_into_bullets_after_points_starts_new_section():
    sections = (
        ("First Section", ("Text.",), "Points", (("A", "a."),)),
        ("Second Section", (), "", (("B", "b."),)),
    )
    story = parse(story_text(sections=sections))
    assert [s.heading for s in story.sections] == ["First Section", "Second Section"]
    assert story.sections[1].points == [Item("B", "b.")]


def test_section_may_have_no_paragraphs():
    story = parse(story_text(sections=(("Just a Heading", (), "", ()), ("Another One", ("Text.",), "", ()))))
    assert story.sections[0].paragraphs == [] and story.sections[1].paragraphs == ["Text."]


def test_take_points_in_any_order_and_any_subset():
    take = (("💡", "Actionable Advice", "Check timetables."), ("⚠️", "Limitations & Risks", "Storms."))
    story = parse(story_text(take_title="Mara’s Take", take=take))
    assert story.take_title == "Mara’s Take"
    assert [(p.kind, p.text) for p in story.take_points] == [
        ("advice", "Check timetables."),
        ("limitations", "Storms."),
    ]


def test_emoji_without_variation_selector():
    take = (("⚠", "Limitations & Risks", "Storms."),)
    story = parse(story_text(take=take, credit="⚠ Please credit Harbour Wire when republishing."))
    assert story.take_points[0].kind == "limitations"
    assert story.credit == "Please credit Harbour Wire when republishing."


def test_byte_order_mark_and_windows_line_endings():
    text = "\ufeff" + story_text().replace("\n", "\r\n")
    story = parse(text)
    assert story.title == "Tidal Power Comes to the Harbour"
    assert story.credit == "Please credit Harbour Wire when republishing."
    assert not any("\r" in p for p in story.lede)


def test_blank_lines_anywhere():
    text = "\n\n" + story_text().replace("\n", "\n\n  \n") + "\n\n"
    story = parse(text)
    assert len(story.key_facts) == 2 and story.sections[0].paragraphs == ["Tides are predictable."]


def test_non_latin_text_is_kept():
    story = parse(story_text(lede=("Engineer Li Wei (李伟) led the survey in Shenzhen (深圳).",)))
    assert story.lede == ["Engineer Li Wei (李伟) led the survey in Shenzhen (深圳)."]


def test_url_with_query_string_is_kept_whole():
    story = parse(story_text())
    assert story.original_url == "https://harbour.example/stories/tidal?ref=rss&utm=1"


def test_text_that_looks_like_html_stays_text():
    lede = ('The "<script>alert(1)</script> Studio" app was named the worst of the year.',)
    story = parse(story_text(lede=lede))
    assert story.lede == list(lede)


@pytest.mark.parametrize(
    ("missing", "message"),
    [("source", "📌 Source"), ("original", "🔗 Original")],
)
def test_missing_attribution_line_is_refused_by_name(missing, message):
    with pytest.raises(StoryFormatError) as raised:
        parse(story_text(**{missing: ""}))
    assert message in raised.value.message
    assert raised.value.line is not None


def test_missing_credit_line_is_allowed():
    assert parse(story_text(credit="")).credit == ""


def test_empty_file_has_no_title():
    with pytest.raises(StoryFormatError, match="no title"):
        parse("\ufeff\n\n  \n")


def test_bullet_as_first_line_is_refused_as_no_title():
    with pytest.raises(StoryFormatError, match="no title") as raised:
        parse("- Label: text\n" + story_text())
    assert raised.value.line == 1


def test_bullets_before_any_heading_are_refused_with_line_number():
    text = "A Title\nA lede sentence.\n\n- Stray: bullet\n" + story_text().split("\n", 2)[2]
    with pytest.raises(StoryFormatError, match="bullet before any heading") as raised:
        parse(text)
    assert raised.value.line == 4


def test_unknown_take_kind_is_refused_with_line_number():
    text = story_text(take=(("🎯", "Bottom Line", "Nope."),))
    line = text.splitlines().index("- 🎯 Bottom Line: Nope.") + 1
    with pytest.raises(StoryFormatError, match="take point") as raised:
        parse(text)
    assert raised.value.line == line


def test_non_http_original_url_is_refused():
    with pytest.raises(StoryFormatError, match="http"):
        parse(story_text(original="🔗 Original: javascript:alert(1)"))


def test_key_fact_without_label_is_refused():
    with pytest.raises(StoryFormatError, match="key fact needs a label"):
        parse(story_text(facts=(("", "No label here."),)))


def test_duplicate_source_line_is_refused():
    text = story_text().replace("🔗", "📌 Source: Other (o.example)\n🔗")
    with pytest.raises(StoryFormatError, match="second"):
        parse(text)


def test_text_after_the_footer_is_refused():
    with pytest.raises(StoryFormatError, match="after the source attribution"):
        parse(story_text() + "A stray paragraph at the end.\n")


@pytest.mark.parametrize(
    ("field", "builder"),
    [
        ("title", lambda long: story_text(title="T" * 301)),
        ("section heading", lambda long: story_text(sections=(("H" + "x" * 300, ("P.",), "", ()),))),
        ("credit", lambda long: story_text(credit="⚠️ Please credit " + "x" * 300)),
        ("label", lambda long: story_text(facts=(("L" * 201, "text."),))),
    ],
)
def test_values_too_long_for_their_column_are_refused_with_the_line(field, builder):
    with pytest.raises(StoryFormatError, match=f"the {field} is .* at most") as raised:
        parse(builder(None))
    assert raised.value.line is not None
