"""Test plugins, one class each (plus data), showing every plugin kind needs no other edit.

Importing a module registers its plugin, as a third-party package's module would; the tests
import them inside a fixture that restores the registries afterwards.
"""
