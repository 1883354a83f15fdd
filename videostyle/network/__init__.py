"""The transform network, the registry of shipped models, and running the network on
frames on a CPU or GPU."""
