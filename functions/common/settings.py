"""The functions' settings: on Lambda parsed once from the environment the template gives."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from functions.domain.deadlines import ApprovalTimings
from functions.domain.offers import OfferTimings


class Settings(BaseModel):
    # Parsed once per container, when its dependencies are built: not on import.
    model_config = ConfigDict(defer_build=True)

    registry_table: str = Field(alias="REGISTRY_TABLE")
    orders_table: str = Field(alias="ORDERS_TABLE")
    technicians_table: str = Field(alias="TECHNICIANS_TABLE")
    rejections_table: str = Field(alias="REJECTIONS_TABLE")
    learning_table: str = Field(alias="LEARNING_TABLE")
    stock_table: str = Field(alias="STOCK_TABLE")
    accounts_table: str = Field(alias="ACCOUNTS_TABLE")
    user_pool_client_id: str = Field(
        alias="USER_POOL_CLIENT_ID", description="The app client whose access tokens are accepted"
    )
    token_issuer: str = Field(
        alias="TOKEN_ISSUER", description="The tokens' `iss`: https://cognito-idp.{region}..."
    )
    jwks_url: str = Field(
        alias="JWKS_URL",
        description="Where the pool's signing keys are served: the issuer's "
        "/.well-known/jwks.json on AWS, the emulator's address locally",
    )
    dead_letter_queue_url: str | None = Field(
        None,
        alias="DEAD_LETTER_QUEUE_URL",
        description="The ingest dead-letter queue, for the operators' triage (API only)",
    )
    cognito_endpoint: str | None = Field(
        None,
        alias="COGNITO_ENDPOINT",
        description="Where the web page signs homeowners in from the browser (InitiateAuth): "
        "https://cognito-idp.{region}.amazonaws.com/ on AWS, the emulator locally (API only)",
    )
    cognito_region: str | None = Field(
        None, alias="COGNITO_REGION", description="The user pool's region (the web page's)"
    )
    iot_data_endpoint: str = Field(
        alias="IOT_DATA_ENDPOINT", description="Host of the iot:Data-ATS endpoint, or a full URL"
    )

    notifications_topic_arn: str = Field(
        alias="NOTIFICATIONS_TOPIC_ARN", description="The SNS topic of notifications to people"
    )
    web_url: str = Field(
        "http://localhost:8000",
        alias="WEB_URL",
        description="Where the web page is served (its /app): the base of ticket links",
    )
    # The approval lifecycle (functions.domain.deadlines), counted from an order's opening;
    # template parameters, so a stack (the local demo) can shorten them.
    approval_reminder_seconds: int = Field(24 * 3600, alias="APPROVAL_REMINDER_SECONDS", gt=0)
    approval_expiry_seconds: int = Field(72 * 3600, alias="APPROVAL_EXPIRY_SECONDS", gt=0)
    emergency_escalation_seconds: int = Field(15 * 60, alias="EMERGENCY_ESCALATION_SECONDS", gt=0)

    # How long a technician has to accept an offer (functions.domain.offers).
    offer_accept_seconds: int = Field(600, alias="OFFER_ACCEPT_SECONDS", gt=0)
    emergency_offer_accept_seconds: int = Field(120, alias="EMERGENCY_OFFER_ACCEPT_SECONDS", gt=0)

    @property
    def offer_timings(self) -> OfferTimings:
        return OfferTimings.of_seconds(
            self.offer_accept_seconds, self.emergency_offer_accept_seconds
        )

    @property
    def approval_timings(self) -> ApprovalTimings:
        return ApprovalTimings.of_seconds(
            self.approval_reminder_seconds,
            self.approval_expiry_seconds,
            self.emergency_escalation_seconds,
        )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        return cls.model_validate(dict(os.environ if environ is None else environ))

    @property
    def iot_data_url(self) -> str:
        endpoint = self.iot_data_endpoint
        return endpoint if "://" in endpoint else f"https://{endpoint}"
