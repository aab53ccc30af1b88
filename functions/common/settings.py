"""The functions' settings: on Lambda parsed once from the environment the template gives."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, Field


class Settings(BaseModel):
    registry_table: str = Field(alias="REGISTRY_TABLE")
    orders_table: str = Field(alias="ORDERS_TABLE")
    technicians_table: str = Field(alias="TECHNICIANS_TABLE")
    rejections_table: str = Field(alias="REJECTIONS_TABLE")
    learning_table: str = Field(alias="LEARNING_TABLE")
    stock_table: str = Field(alias="STOCK_TABLE")
    iot_data_endpoint: str = Field(
        alias="IOT_DATA_ENDPOINT", description="Host of the iot:Data-ATS endpoint, or a full URL"
    )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        return cls.model_validate(dict(os.environ if environ is None else environ))

    @property
    def iot_data_url(self) -> str:
        endpoint = self.iot_data_endpoint
        return endpoint if "://" in endpoint else f"https://{endpoint}"
