"""The four stages: fetch -> transcribe -> analyze -> publish. Each is a function from event to event."""
