"""Test helpers shared by the integration and end-to-end tests (scripted servers, audio)."""
