"""Rankers: policies that order candidates into feeds."""
