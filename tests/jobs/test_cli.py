"""`canteen jobs list` and `canteen jobs run NAME` against a real database."""
from typer.testing import CliRunner

from canteen import cli
from canteen.jobs import service as jobs


def jobs_command(database_url: str, *args: str):
    return CliRunner().invoke(cli.app, ["jobs", *args], env={"CANTEEN_DATABASE_URL": database_url})


def test_run_a_job_now_and_see_it_listed(engine, database_url, org):
    result = jobs_command(database_url, "list")
    assert result.exit_code == 0 and result.stdout.count("never run") == len(jobs.JOBS)
    result = jobs_command(database_url, "run", "nightly-rollups")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "nightly-rollups: yesterday's rollups recomputed for 3 canteens\n"
    listed = jobs_command(database_url, "list").stdout
    assert "ok: yesterday's rollups recomputed for 3 canteens" in listed and listed.count("never run") == len(jobs.JOBS) - 1


def test_an_unknown_job_is_one_error_line(engine, database_url):
    result = jobs_command(database_url, "run", "nightly")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: ") and "unknown job 'nightly'" in result.stderr
    assert len(result.stderr.splitlines()) == 1
