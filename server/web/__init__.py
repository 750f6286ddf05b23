"""The browser viewer: a page (clients/web/) and a WebSocket over the same streaming core as gRPC.
One job per module: app (routes, start/stop), socket (one stream per connection), protocol (the
messages), access (Origin and token), closing (errors -> close codes and HTTP statuses), api (sign
autocomplete, server options, MP4 download), mp4 (frames -> MP4)."""
