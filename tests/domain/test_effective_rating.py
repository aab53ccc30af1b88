"""A technician's rating for matching: the profile's, blended with real visits' ratings."""

from __future__ import annotations

from functions.domain.matching import PROFILE_RATING_WEIGHT, effective_rating
from tests.factories import a_technician


def test_without_ratings_the_profile_rating_stands():
    assert effective_rating(a_technician(rating=4.5)) == 4.5


def test_real_ratings_pull_the_profile_rating_towards_them():
    # Given a 4.5 profile rated 1 star by five homeowners
    rated = a_technician(rating=4.5, ratings_count=5, ratings_total=5)
    # Then it ranks halfway between
    assert effective_rating(rated) == (4.5 * PROFILE_RATING_WEIGHT + 5) / (
        PROFILE_RATING_WEIGHT + 5
    )
    assert 1.0 < effective_rating(rated) < 4.5


def test_many_ratings_outweigh_the_profile():
    rated = a_technician(rating=3.0, ratings_count=1000, ratings_total=5000)
    assert effective_rating(rated) > 4.98


def test_the_rating_stays_within_zero_and_five():
    assert 0.0 <= effective_rating(a_technician(rating=0, ratings_count=3, ratings_total=3)) <= 5.0
    assert effective_rating(a_technician(rating=5, ratings_count=2, ratings_total=10)) == 5.0
