from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "planning"

COUNTIES = """code,name,poverty,special_post_capacity
WZS,五指山市,national,3
DF,东方市,provincial,4
HK,海口市,none,5
"""
TEACHER_NEEDS = """county,stage,shortage
WZS,primary,2
WZS,junior,2
DF,primary,3
DF,preschool,1
HK,primary,3
HK,junior,2
"""
GRADUATE_NEEDS = """county,programme,year,vacancies
WZS,primary,2022,2
WZS,primary,2023,1
DF,primary,2022,1
DF,primary,2023,3
HK,primary,2022,4
HK,primary,2023,0
WZS,preschool,2021,1
HK,preschool,2021,2
DF,preschool,2022,1
"""
APPLICANTS = """county,programme,year,applicants
WZS,primary,2018,1
WZS,primary,2019,2
DF,primary,2018,2
DF,primary,2019,2
HK,primary,2018,5
HK,primary,2019,3
WZS,preschool,2018,1
HK,preschool,2018,3
DF,preschool,2019,2
HK,preschool,2019,1
"""
SMALL_SCENARIO = """name: small
total_posts: 8
poverty_floor: 2
annual_intake: {primary: 5, preschool: 2}
intake_years: [2018, 2019]
"""


@pytest.fixture
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture
def make_data(tmp_path):
    """A data folder from the small files above, with any file replaced or removed (None)."""
    def make(name: str = "data", **files: str | None) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        contents = {"counties.csv": COUNTIES, "teacher_needs.csv": TEACHER_NEEDS,
                    "graduate_needs.csv": GRADUATE_NEEDS, "applicants.csv": APPLICANTS,
                    "scenario.yaml": SMALL_SCENARIO}
        contents.update({k.replace("__", "."): v for k, v in files.items()})
        for filename, text in contents.items():
            if text is not None:
                (folder / filename).write_text(text, encoding="utf-8")
        return folder
    return make
