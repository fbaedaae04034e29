"""Training and measuring the command spotter (`voicecoach train-spotter`): an application, like bench."""
