"""Build-argument scoping as dockerd's buildargs.go."""

from __future__ import annotations

from dockerpy_engine.build.buildargs import BuildArgs


def test_declared_arg_takes_the_option_value_over_its_default():
    args = BuildArgs({"A": "given"})
    args.add_arg("A", "default")
    args.add_arg("B", "bee")
    assert args.allowed() == {"A": "given", "B": "bee"}


def test_arg_without_value_is_absent_unless_given():
    args = BuildArgs({})
    args.add_arg("A", None)
    assert args.allowed() == {}


def test_meta_arg_value_reaches_a_stage_that_redeclares_it():
    args = BuildArgs({})
    args.add_arg("VERSION", "1.0")
    args.add_meta_arg("VERSION", "1.0")
    stage = args.clone()
    stage.reset_allowed()
    assert stage.allowed() == {}  # not visible until declared in the stage
    stage.add_arg("VERSION", None)
    assert stage.allowed() == {"VERSION": "1.0"}
    assert args.meta() == {"VERSION": "1.0"}


def test_env_wins_over_build_args_for_run():
    args = BuildArgs({"A": "arg"})
    args.add_arg("A", None)
    args.add_arg("B", "b")
    assert args.filter_allowed(["A=env"]) == ["B=b"]


def test_proxy_args_are_allowed_undeclared_but_kept_out_of_the_cache_key():
    args = BuildArgs({"HTTP_PROXY": "http://proxy"})
    assert args.allowed() == {"HTTP_PROXY": "http://proxy"}
    assert not args.in_cache_key("HTTP_PROXY")
    args.add_arg("HTTP_PROXY", None)
    assert args.in_cache_key("HTTP_PROXY")
    assert args.in_cache_key("ANYTHING")


def test_unused_lists_given_args_no_stage_declared_sorted():
    args = BuildArgs({"Z": "1", "A": "2", "USED": "3", "no_proxy": "x"})
    stage = args.clone()
    stage.add_arg("USED", None)
    assert args.unused() == ["A", "Z"]  # a use in a stage counts; proxies never warn
