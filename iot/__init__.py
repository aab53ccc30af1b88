"""Device side: topic names, IoT rule SQL evaluation, fault generation and the MQTT fleet."""
