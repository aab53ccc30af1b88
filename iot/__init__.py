"""Device side: topic names, IoT rule SQL evaluation and the appliance fleet simulator."""
