"""What every handler shares: settings from the environment, AWS clients."""
