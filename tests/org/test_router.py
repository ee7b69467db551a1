"""JSON API for bureaus, canteens and stations, including who may see what."""


def test_admin_lists_every_canteen(client, org, api_headers):
    response = client.get("/api/v1/canteens", headers=api_headers("admin"))
    assert response.status_code == 200
    assert sorted(c["id"] for c in response.json()) == sorted(org.canteens.values())
