"""Generated from protos/signstream/v1/signstream.proto by protos/generate.py; do not edit."""
