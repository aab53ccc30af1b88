"""Local stack: AWS emulator (moto) with template.yaml deployed, MQTT broker, rule bridge, API."""
