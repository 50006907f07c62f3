"""Teachers (oracle, openai, hf_local), prompt templates and strict output parsers."""
