#!/bin/sh
# One request per connection: "PING" -> "PONG", "GET" -> every stored line, anything else is stored.
read -r line
case "$line" in
  PING) echo PONG ;;
  GET) cat /data/kv ;;
  *) echo "$line" >> /data/kv && echo OK ;;
esac
