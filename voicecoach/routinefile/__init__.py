"""The routine file reader: exercises.yaml read strictly, every error naming its file, line and field."""
