"""The identity fixtures part of every API test uses: real users of the template's pool,
what they own in AccountsTable, and the bad tokens, all checked by the API's verifier."""

from __future__ import annotations

import pytest

from functions.auth.tokens import TokenError
from functions.common.wiring import dependencies
from tests.functions.conftest import Identity

GROUPS = ["homeowner", "technician", "manufacturer", "operator"]


@pytest.mark.parametrize("group", GROUPS)
def test_a_user_of_each_group_is_verified_with_its_group(identity: Identity, group: str) -> None:
    signed_in = identity.user(group)
    principal = dependencies().token_verifier.verify(signed_in.authorization)
    assert principal.user_id == signed_in.user_id
    assert principal.username == signed_in.username
    assert principal.groups == frozenset({group})


def test_what_the_user_owns_is_in_the_accounts_table(identity: Identity) -> None:
    owner = identity.user("homeowner", homes=["home-x", "home-y"])
    technician = identity.user("technician", technician_id="tech-x")
    maker = identity.user("manufacturer", manufacturer="Rheem")
    accounts = dependencies().accounts
    assert accounts.access_of(owner.user_id).home_ids == {"home-x", "home-y"}
    assert accounts.access_of(technician.user_id).technician_id == "tech-x"
    assert accounts.access_of(maker.user_id).manufacturer == "Rheem"


def test_each_bad_token_of_a_real_owner_is_refused_for_its_flaw(
    identity: Identity, bad_tokens
) -> None:
    owner = identity.user("homeowner", homes=["home-z"])
    verifier = dependencies().token_verifier
    for bad in bad_tokens(owner):
        with pytest.raises(TokenError) as refused:
            verifier.verify(bad.header)
        assert refused.value.problem is bad.problem, bad.name
        assert bad.message in str(refused.value), bad.name


def test_bad_tokens_need_no_user(bad_tokens) -> None:
    verifier = dependencies().token_verifier
    for bad in bad_tokens():
        with pytest.raises(TokenError):
            verifier.verify(bad.header)
