"""Device side: IoT rule SQL evaluation and the appliance fleet simulator."""
