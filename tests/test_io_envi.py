"""Tests of hsiwq.io.envi.read_envi: every ENVI variant reads to the reference cube."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from hsiwq.errors import BundleError
from hsiwq.io.envi import EnviArray, envi_source, read_envi, write_envi

SHAPE = (7, 5, 13)  # lines, samples, bands
WAVELENGTH = np.round(np.linspace(400.0, 880.0, SHAPE[2]), 4)  # [nm]
FWHM = np.linspace(3.0, 6.0, SHAPE[2])  # [nm]
DTYPES = ["uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32",
          "float64"]


def reference(dtype: str = "uint16") -> np.ndarray:
    """A cube whose values are exact in ``dtype`` (negative ones for signed types)."""
    base = np.random.default_rng(42).integers(0, 4096, size=SHAPE)
    kind = np.dtype(dtype).kind
    if dtype == "uint8":
        base = base % 256
    elif kind in "if":
        base = base - 2048
    if kind == "f":
        base = base + 0.25
    return base.astype(dtype)


def set_key(hdr: Path, key: str, value: str | None) -> None:
    """Replace (or add, or with None remove) a ``key = value`` line of a header."""
    lines = [ln for ln in hdr.read_text().splitlines() if ln.split("=")[0].strip() != key]
    if value is not None:
        lines.append(f"{key} = {value}")
    hdr.write_text("\n".join(lines) + "\n")


def braced(values) -> str:
    return "{ " + ", ".join(str(v) for v in values) + " }"


def expect_error(hdr: Path, where: Path, *words: str) -> BundleError:
    with pytest.raises(BundleError) as info:
        read_envi(hdr, name="water")
    err = info.value
    assert Path(err.where) == where
    assert "\n" not in str(err)
    for word in words:
        assert word in err.problem, (word, err.problem)
    return err


@pytest.fixture
def cube(tmp_path) -> Path:
    """A plain uint16 little-endian BSQ cube with fwhm."""
    return write_envi(tmp_path / "water.hdr", reference(), WAVELENGTH, fwhm_nm=FWHM)


# --- variants that must read to the same array -----------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("byteorder", ["little", "big"])
@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
def test_every_layout_reads_the_reference(tmp_path, interleave, byteorder, dtype):
    ref = reference(dtype)
    hdr = write_envi(tmp_path / "water.hdr", ref, WAVELENGTH, interleave=interleave,
                     byteorder=byteorder)
    out = read_envi(hdr, name="water")
    assert out.dims == ("y", "x", "wavelength")
    assert out.dtype == np.float32
    assert out.name == "water"
    assert np.array_equal(out.values, ref.astype(np.float32))
    assert np.allclose(out["wavelength"].values, WAVELENGTH)
    assert out["good_band"].dtype == bool and out["good_band"].values.all()
    assert "fwhm" not in out.coords


def test_fwhm_is_a_wavelength_coordinate(cube):
    out = read_envi(cube, name="water")
    assert np.allclose(out["fwhm"].values, FWHM)
    assert out["fwhm"].dims == ("wavelength",)


@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
def test_header_offset(tmp_path, interleave):
    ref = reference("int16")
    hdr = write_envi(tmp_path / "water.hdr", ref, WAVELENGTH, interleave=interleave,
                     byteorder="big")
    raw = tmp_path / "water.raw"
    raw.write_bytes(b"\xab" * 517 + raw.read_bytes())
    set_key(hdr, "header offset", "517")
    assert np.array_equal(read_envi(hdr, name="water").values, ref.astype(np.float32))


@pytest.mark.parametrize("units", ["Micrometers", "micrometers", "um", "µm", "Microns"])
def test_micrometer_wavelengths_and_fwhm_become_nm(cube, units):
    set_key(cube, "wavelength", braced(f"{w / 1000:.7f}" for w in WAVELENGTH))
    set_key(cube, "fwhm", braced(f"{w / 1000:.7f}" for w in FWHM))
    set_key(cube, "wavelength units", units)
    out = read_envi(cube, name="water")
    assert np.allclose(out["wavelength"].values, WAVELENGTH, atol=1e-3)
    assert np.allclose(out["fwhm"].values, FWHM, atol=1e-3)
    assert np.array_equal(out.values, reference().astype(np.float32))


def test_wavelength_units_absent_means_nm(cube):
    set_key(cube, "wavelength units", None)
    assert np.allclose(read_envi(cube, name="w")["wavelength"].values, WAVELENGTH)


@pytest.mark.parametrize("interleave", ["bsq", "bip"])
def test_descending_wavelengths_are_sorted(tmp_path, interleave):
    ref = reference()
    bbl = np.ones(SHAPE[2], dtype=int)
    bbl[2] = 0
    hdr = write_envi(tmp_path / "water.hdr", ref[..., ::-1], WAVELENGTH[::-1],
                     interleave=interleave, fwhm_nm=FWHM[::-1],
                     extra_metadata={"bbl": list(bbl[::-1])})
    out = read_envi(hdr, name="water")
    assert np.array_equal(out.values, ref.astype(np.float32))
    assert np.allclose(out["wavelength"].values, WAVELENGTH)
    assert np.allclose(out["fwhm"].values, FWHM)
    assert np.array_equal(out["good_band"].values, bbl == 1)


def test_unordered_wavelengths_are_sorted(tmp_path):
    ref = reference("float32")
    order = np.random.default_rng(1).permutation(SHAPE[2])
    hdr = write_envi(tmp_path / "water.hdr", ref[..., order], WAVELENGTH[order],
                     interleave="bil", byteorder="big")
    out = read_envi(hdr, name="water")
    assert np.array_equal(out.values, ref)
    assert np.all(np.diff(out["wavelength"].values) > 0)


def test_bbl_gives_good_band(tmp_path):
    bbl = [1] * SHAPE[2]
    bbl[0] = bbl[-1] = 0
    hdr = write_envi(tmp_path / "water.hdr", reference(), WAVELENGTH,
                     extra_metadata={"bbl": bbl})
    out = read_envi(hdr, name="water")
    assert out["good_band"].values.tolist() == [b == 1 for b in bbl]
    assert np.array_equal(out.values, reference().astype(np.float32))  # bands are kept


@pytest.mark.parametrize("dtype, ignore", [("int16", -2000), ("uint16", 65535),
                                           ("float32", -9999.0), ("int32", 2**31 - 1),
                                           ("float64", 0.1)])
def test_data_ignore_value_becomes_nan(tmp_path, dtype, ignore):
    ref = reference(dtype)
    ref[0, 0, 0] = ref[3, 2, 5] = ignore
    if dtype == "int32":  # a neighbour that float32 cannot tell from the ignore value
        ref[1, 1, 1] = ignore - 1
    hdr = write_envi(tmp_path / "water.hdr", ref, WAVELENGTH, interleave="bip",
                     byteorder="big", extra_metadata={"data ignore value": ignore})
    out = read_envi(hdr, name="water").values
    expected = ref.astype(np.float32)
    expected[ref == ignore] = np.nan
    assert np.isnan(out[0, 0, 0]) and np.isnan(out[3, 2, 5])
    assert np.isnan(out).sum() == 2
    assert np.array_equal(out, expected, equal_nan=True)


@pytest.mark.parametrize("name", ["water.img", "water.dat", "water", "water.bsq"])
def test_other_data_file_names(tmp_path, cube, name):
    (tmp_path / "water.raw").rename(tmp_path / name)
    assert np.array_equal(read_envi(cube, name="w").values, reference().astype(np.float32))


def test_raw_is_preferred_over_other_names(tmp_path, cube):
    (tmp_path / "water.img").write_bytes(b"\0" * 10)
    assert np.array_equal(read_envi(cube, name="w").values, reference().astype(np.float32))


def test_hand_written_header_with_upper_case_keys(tmp_path):
    ref = reference("float64")
    ref.transpose(0, 2, 1).astype(">f8").tofile(tmp_path / "cube.raw")  # BIL, big-endian
    (tmp_path / "cube.hdr").write_text(
        "ENVI\ndescription = {hand made,\n  two lines}\nSamples = 5\nLines = 7\nBands = 13\n"
        "Data Type = 5\nInterleave = BIL\nByte Order = 1\n"
        f"Wavelength = {{{', '.join(str(w) for w in WAVELENGTH[:7])},\n"
        f"  {', '.join(str(w) for w in WAVELENGTH[7:])}}}\n")
    out = read_envi(tmp_path / "cube.hdr", name="water")
    assert np.array_equal(out.values, ref.astype(np.float32))
    assert np.allclose(out["wavelength"].values, WAVELENGTH)


# --- lazy reads: the same values, read on access ---------------------------------------------


def assert_lazy_matches(hdr: Path) -> xr.DataArray:
    """Lazy and eager reads agree: whole, sliced, and block by block through the raw source."""
    eager = read_envi(hdr, name="water")
    lazy = read_envi(hdr, name="water", lazy=True)
    src = envi_source(lazy)
    assert isinstance(src, EnviArray) and src.shape == eager.shape
    assert envi_source(eager) is None
    assert lazy.dtype == np.float32
    xr.testing.assert_identical(lazy.load(), eager)  # NaN where ignored, on both sides
    lazy = read_envi(hdr, name="water", lazy=True)
    ny, nx, nb = eager.shape
    for sel in ({"y": slice(1, 4)}, {"x": 2, "wavelength": slice(None, None, 3)},
                {"y": -1, "x": slice(0, nx, 2)}, {"wavelength": [5, 1, 2]}):
        xr.testing.assert_identical(lazy.isel(sel).load(), eager.isel(sel))
    assert envi_source(lazy.isel(y=slice(0, 2))) is None  # sliced: read as any array
    for y0, y1 in ((0, 1), (2, 5), (0, ny), (ny - 2, ny + 3)):
        raw = src.raw_lines(y0, y1)
        assert raw.shape == eager.values[y0:y1].shape
        assert np.array_equal(src.to_float32(raw), eager.values[y0:y1], equal_nan=True)
        out = np.full(raw.shape, 7.0, dtype=np.float32)
        src.to_float32(raw, out=out)
        assert np.array_equal(out, eager.values[y0:y1], equal_nan=True)
    return lazy


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("byteorder", ["little", "big"])
@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
def test_lazy_read_of_every_layout(tmp_path, interleave, byteorder, dtype):
    ref = reference(dtype)
    hdr = write_envi(tmp_path / "water.hdr", ref, WAVELENGTH, interleave=interleave,
                     byteorder=byteorder, fwhm_nm=FWHM)
    lazy = assert_lazy_matches(hdr)
    assert np.array_equal(lazy.values, ref.astype(np.float32))


@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
@pytest.mark.parametrize("order", ["descending", "shuffled"])
def test_lazy_read_with_offset_band_order_and_ignore_value(tmp_path, interleave, order):
    ref = reference("int16")
    ref[0, 0, 0] = ref[3, 2, 5] = ref[6, 4, 12] = -2000
    perm = (np.arange(SHAPE[2])[::-1] if order == "descending"
            else np.random.default_rng(3).permutation(SHAPE[2]))
    hdr = write_envi(tmp_path / "water.hdr", ref[..., perm], WAVELENGTH[perm],
                     interleave=interleave, byteorder="big",
                     extra_metadata={"data ignore value": -2000})
    raw = tmp_path / "water.raw"
    raw.write_bytes(b"\xab" * 517 + raw.read_bytes())
    set_key(hdr, "header offset", "517")
    lazy = assert_lazy_matches(hdr)
    assert np.isnan(lazy.values).sum() == 3


@pytest.mark.parametrize("dtype, ignore", [("uint16", 65535), ("float32", -9999.0),
                                           ("int32", 2**31 - 1), ("float64", 0.1)])
def test_lazy_read_ignore_values(tmp_path, dtype, ignore):
    ref = reference(dtype)
    ref[0, 0, 0] = ref[3, 2, 5] = ignore
    if dtype == "int32":
        ref[1, 1, 1] = ignore - 1
    hdr = write_envi(tmp_path / "water.hdr", ref, WAVELENGTH, interleave="bil",
                     extra_metadata={"data ignore value": ignore})
    assert_lazy_matches(hdr)


def test_lazy_read_validates_like_the_eager_one(tmp_path, cube):
    raw = tmp_path / "water.raw"
    raw.write_bytes(raw.read_bytes()[:-2])
    with pytest.raises(BundleError, match="truncated"):
        read_envi(cube, name="water", lazy=True)
    raw.unlink()
    with pytest.raises(BundleError, match="missing data file"):
        read_envi(cube, name="water", lazy=True)


def test_lazy_cube_survives_a_rename_of_its_files(tmp_path, cube):
    lazy = read_envi(cube, name="water", lazy=True)
    (tmp_path / "moved").mkdir()
    (tmp_path / "water.raw").rename(tmp_path / "moved" / "water.raw")
    src = envi_source(lazy)
    assert np.array_equal(src.to_float32(src.raw_lines(0, 3)),
                          reference()[:3].astype(np.float32))
    assert np.array_equal(lazy.values, reference().astype(np.float32))


# --- broken files: one precise BundleError each ----------------------------------------------


def test_missing_header(tmp_path):
    expect_error(tmp_path / "water.hdr", tmp_path / "water.hdr", "missing ENVI header")


def test_missing_data_file(tmp_path, cube):
    (tmp_path / "water.raw").unlink()
    expect_error(cube, tmp_path / "water.raw", "missing data file for water.hdr")


def test_not_an_envi_header(cube):
    cube.write_text("hello\nsamples = 5\n")
    expect_error(cube, cube, "not an ENVI header")


def test_binary_header(cube):
    cube.write_bytes(b"\xff\xfe\x00\x81" * 20)
    expect_error(cube, cube, "ENVI header")


def test_unbalanced_brace(cube):
    set_key(cube, "wavelength", "{ 400, 410")
    expect_error(cube, cube, "unparsable ENVI header")


@pytest.mark.parametrize("key", ["samples", "lines", "bands", "data type", "interleave",
                                 "byte order"])
def test_missing_mandatory_key(cube, key):
    set_key(cube, key, None)
    expect_error(cube, cube, "lacks mandatory key", key)


def test_missing_wavelength(cube):
    set_key(cube, "wavelength", None)
    expect_error(cube, cube, "no 'wavelength'")


def test_wavelength_count_differs_from_bands(cube):
    set_key(cube, "wavelength", braced(WAVELENGTH[:-1]))
    expect_error(cube, cube, "'wavelength' has 12 values for 13 bands")


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_wavelength(cube, value):
    waves = [str(w) for w in WAVELENGTH]
    waves[4] = value
    set_key(cube, "wavelength", braced(waves))
    expect_error(cube, cube, "non-finite wavelength", "band 5")


def test_non_numeric_wavelength(cube):
    waves = [str(w) for w in WAVELENGTH]
    waves[2] = "blue"
    set_key(cube, "wavelength", braced(waves))
    expect_error(cube, cube, "'blue' is not a number")


def test_duplicate_wavelength(cube):
    waves = list(WAVELENGTH)
    waves[7] = waves[2]
    set_key(cube, "wavelength", braced(waves))
    expect_error(cube, cube, "duplicate wavelength", "bands 3 and 8")


def test_unsupported_wavelength_units(cube):
    set_key(cube, "wavelength units", "Wavenumber")
    expect_error(cube, cube, "unsupported wavelength units 'Wavenumber'")


def test_micrometers_without_units(cube):
    set_key(cube, "wavelength units", None)
    set_key(cube, "wavelength", braced(WAVELENGTH / 1000))
    expect_error(cube, cube, "look like micrometers")


def test_truncated_data(tmp_path, cube):
    raw = tmp_path / "water.raw"
    raw.write_bytes(raw.read_bytes()[:100])
    err = expect_error(cube, raw, "data file has 100 bytes, header implies 910", "truncated")
    assert "water.hdr" in err.problem


def test_data_file_larger_than_header(tmp_path, cube):
    raw = tmp_path / "water.raw"
    raw.write_bytes(raw.read_bytes() + b"\0\0")
    expect_error(cube, raw, "data file has 912 bytes, header implies 910", "larger")


def test_header_offset_not_in_file(tmp_path, cube):
    set_key(cube, "header offset", "64")
    expect_error(cube, tmp_path / "water.raw", "header implies 974", "truncated")


@pytest.mark.parametrize("code", ["6", "9", "7", "x"])
def test_unsupported_data_type(cube, code):
    set_key(cube, "data type", code)
    expect_error(cube, cube, f"unsupported ENVI data type '{code}'")


def test_bad_interleave(cube):
    set_key(cube, "interleave", "bxx")
    expect_error(cube, cube, "unsupported interleave 'bxx'")


def test_bad_byte_order(cube):
    set_key(cube, "byte order", "2")
    expect_error(cube, cube, "'byte order' must be 0 or 1")


@pytest.mark.parametrize("key, value", [("lines", "0"), ("samples", "five"),
                                        ("header offset", "-4")])
def test_bad_dimension(cube, key, value):
    set_key(cube, key, value)
    expect_error(cube, cube, f"header '{key}' must be an integer")


def test_fwhm_count_differs(cube):
    set_key(cube, "fwhm", braced(FWHM[:3]))
    expect_error(cube, cube, "'fwhm' has 3 values for 13 bands")


def test_bad_bbl(cube):
    set_key(cube, "bbl", braced([1] * 12 + [2]))
    expect_error(cube, cube, "'bbl' value 2 at band 13 is not 0 or 1")


def test_bad_ignore_value(cube):
    set_key(cube, "data ignore value", "none")
    expect_error(cube, cube, "'data ignore value' 'none' is not a number")


def test_error_message_is_one_line_with_file(tmp_path, cube):
    raw = tmp_path / "water.raw"
    raw.write_bytes(b"")
    with pytest.raises(BundleError) as info:
        read_envi(cube, name="water")
    assert re.fullmatch(rf"{re.escape(str(raw))}: data file has 0 bytes, .*", str(info.value))
