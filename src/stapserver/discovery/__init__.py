"""Finding compile servers on the local network: DNS-SD over multicast DNS."""
