"""The Dockerfile builder: parser, variable expansion, .dockerignore, build context, step cache, executor."""
