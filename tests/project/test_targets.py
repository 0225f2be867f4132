"""A decision's mapping predicate (SKOS: exact, close, broad, narrow, related) and further targets."""

from __future__ import annotations

import pytest

from termlinker.project import DecisionError, Predicate, Project, Status, Target


def test_a_decision_is_exact_unless_told_otherwise(project):
    row = project.decide("legs hurt", "approved")
    assert row.predicate is Predicate.EXACT
    assert row.targets == (Target("T:003", "Pain in lower limb", Predicate.EXACT),)


def test_the_predicate_is_stored_and_kept_while_the_concept_stays(project, project_path):
    project.decide("legs hurt", "approved", predicate="broad")
    project.comment("legs hurt", "the patient means both legs")
    project.decide("legs hurt", "flagged", concept_id="T:003")
    assert project.row("legs hurt").predicate is Predicate.BROAD
    project.close()
    with Project.open(project_path) as again:
        assert again.row("legs hurt").predicate is Predicate.BROAD


def test_another_concept_starts_exact_again(project):
    project.decide("legs hurt", "approved", predicate="narrow")
    assert project.decide("legs hurt", "approved", concept_id="T:010").predicate is Predicate.EXACT


@pytest.mark.parametrize("spelled", ["close", "CLOSE", "skos:closeMatch", "closeMatch"])
def test_predicates_are_read_as_words_or_skos_curies(project, spelled):
    assert project.decide("headache", "approved", predicate=spelled).predicate is Predicate.CLOSE


def test_an_unknown_predicate_is_a_clear_error(project):
    with pytest.raises(DecisionError, match="use one of: exact, close, broad, narrow, related"):
        project.decide("headache", "approved", predicate="sideways")


def test_a_term_maps_to_several_concepts_each_with_its_predicate(project):
    project.decide("legs hurt", "approved")
    project.add_target("legs hurt", "T:010", predicate="related")
    row = project.add_target("legs hurt", "T:099", "Leg weakness", predicate="close")
    assert row.targets == (Target("T:003", "Pain in lower limb", Predicate.EXACT),
                           Target("T:010", "Muscle cramp", Predicate.RELATED),
                           Target("T:099", "Leg weakness", Predicate.CLOSE))


def test_adding_a_target_again_changes_its_predicate(project):
    project.decide("legs hurt", "approved")
    project.add_target("legs hurt", "T:010")
    row = project.add_target("legs hurt", "T:010", predicate="narrow")
    assert row.extra_targets == (Target("T:010", "Muscle cramp", Predicate.NARROW),)
    assert project.add_target("legs hurt", "T:003", predicate="broad").predicate is Predicate.BROAD


def test_a_further_target_needs_a_first_concept_and_a_name_when_not_a_candidate(project):
    with pytest.raises(DecisionError, match="approve .*first concept"):
        project.add_target("legs hurt", "T:010")
    project.decide("legs hurt", "approved")
    with pytest.raises(DecisionError, match="give its name"):
        project.add_target("legs hurt", "T:404")


def test_removing_a_target_keeps_the_others(project):
    project.decide("legs hurt", "approved")
    project.add_target("legs hurt", "T:010")
    row = project.remove_target("legs hurt", "T:010")
    assert [t.concept_id for t in row.targets] == ["T:003"]
    with pytest.raises(DecisionError, match="not mapped to T:010"):
        project.remove_target("legs hurt", "T:010")
    with pytest.raises(DecisionError, match="decision's own concept"):
        project.remove_target("legs hurt", "T:003")


def test_undoing_or_no_match_drops_every_target(project):
    project.decide("legs hurt", "approved", predicate="broad")
    project.add_target("legs hurt", "T:010")
    row = project.decide("legs hurt", "no_match")
    assert row.targets == () and row.predicate is Predicate.EXACT
    project.decide("legs hurt", "approved")
    project.add_target("legs hurt", "T:010")
    assert project.decide("legs hurt", "unchecked").targets == ()


def test_choosing_a_further_target_as_the_concept_moves_it_first(project):
    project.decide("legs hurt", "approved")
    project.add_target("legs hurt", "T:010", predicate="close")
    row = project.decide("legs hurt", "approved", concept_id="T:010", predicate="exact")
    assert [t.concept_id for t in row.targets] == ["T:010"]


def test_the_history_logs_every_target_change(project):
    project.decide("legs hurt", "approved")
    project.add_target("legs hurt", "T:010", predicate="related")
    assert len(project.history("legs hurt")) == 2
    assert project.history("legs hurt")[-1][1] == "T:003"


def test_rows_and_pages_carry_the_targets(project):
    project.decide("legs hurt", "approved")
    project.add_target("legs hurt", "T:010", predicate="broad")
    by_rows = {r.term: r for r in project.rows()}
    by_pages = {r.term: r for r in project.iter_rows(page=2)}
    assert by_rows["legs hurt"].targets == by_pages["legs hurt"].targets
    assert len(by_pages["legs hurt"].targets) == 2 and by_pages["headache"].targets == ()
