"""Miniature eDiff-I tooling: data, encoders and judge (issue [mini-1])."""
