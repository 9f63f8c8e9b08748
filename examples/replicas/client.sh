#!/bin/sh
# Ask the project's DNS for "echo" on every request: it answers with every replica, in rotating order, and
# the first answer is used. (Resolving inside nc would go through getaddrinfo, which re-sorts the answers by
# address and so would pick the same replica each time.) `client.sh N` makes N requests without pausing.
count=${1:-0}
i=0
while [ "$count" -eq 0 ] || [ "$i" -lt "$count" ]; do
  addr=$(nslookup echo 2>/dev/null | awk '/^Address: /{print $2; exit}')
  nc -w 1 "$addr" 7000
  i=$((i + 1))
  [ "$count" -eq 0 ] && sleep 2
done
