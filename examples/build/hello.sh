#!/bin/sh
echo "$GREETING from a composer-built image"
