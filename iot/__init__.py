"""Device side: IoT rule SQL evaluation, fault generation and the MQTT fleet."""
